//! Edits of `models.toml` that keep the user's comments and formatting (CONTRACT STUB).
