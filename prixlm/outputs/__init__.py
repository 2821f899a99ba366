"""How every command writes its outputs: crash-safe (`atomic`: staged beside the final name,
renamed when complete), one writer per output (`lock`), and the path checked before any work
(`checks`: a file can be made there; no device or pipe)."""
