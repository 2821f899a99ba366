"""How every command writes its outputs: crash-safe (`atomic`: staged beside the final name,
flushed to disk (`durable`) and renamed when complete), one writer per output (`lock`), the
path checked before any work (`checks`: a file can be made there; no device or pipe), and
errors that name the output (`write_errors`) or the open-files limit (`open_files`)."""
