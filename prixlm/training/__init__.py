"""Pretraining: tokenizer, model factory, dataset rows -> token ids, collator, the Trainer subclass.

`train.py` at the repository root is the entry point that wires these together.
"""
