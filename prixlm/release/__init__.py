"""Release: turning checkpoints into Hub folders (conversion of the official checkpoint)."""
