"""What the package says to and reads from the Hugging Face Hub: repo ids and one-line Hub
failures (`calls`), the cards' ISO 639 `language:` codes (`languages`), the Hub's licence
ids (`licenses`), the files of a model the Hub cache lacks offline (`cache_files`), and
errors of an unwritable Hugging Face cache that name the variable to set (`hf_cache`)."""
