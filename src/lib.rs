//! hfdl: declarative, lockfile-based sync of Hugging Face Hub repositories.
