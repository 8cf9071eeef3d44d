//! A faithful local Hugging Face Hub.
