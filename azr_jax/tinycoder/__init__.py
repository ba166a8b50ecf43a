"""The tiny coder: a few-million-parameter Qwen2 pretrained on generated Absolute Zero transcripts, so that the
CPU default run (`configs/tiny.py`) shows real self-play. `programs` draws small Python programs, `corpus` turns
them into sandbox-validated tasks and transcripts in the trainer's prompt formats, `tokenizer` trains the BPE and
`pretrain` the model; scripts/make_tinycoder.py runs them all and writes `assets/tinycoder/`."""
