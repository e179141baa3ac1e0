"""Follow-ups in the upload log's database: the statements both backends share (`statements`), and one
module per backend for what only it does."""
