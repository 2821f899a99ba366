"""What the package says to and reads from the Hugging Face Hub: repo ids and one-line Hub
failures (`calls`), the cards' ISO 639 `language:` codes (`languages`), the Hub's licence
ids (`licenses`), and the files of a model the Hub cache lacks offline (`cache_files`)."""
