"""Follow-ups: new music and files made from a clip_id. `records` (what the store keeps and what a member
typed), `catalog` (the operations), `ports` (what they need from outside), `service` (starting and
settling one), `watcher` (polling and showing results again), `grants` (others' clips)."""
