"""The Discord side of follow-ups: the buttons and forms (`views`), the desk taking presses and submits
(`desk`), and showing a result to its member (`delivery`)."""
