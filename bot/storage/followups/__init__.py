"""Follow-ups in the upload log's database: the domain's `FollowUpStore`, its statements written once for
both backends (`store`)."""
