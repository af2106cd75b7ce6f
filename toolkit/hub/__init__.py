"""Publishing to the Hugging Face Hub, one job per module, in the order a push runs:

- `errors`: the one translator from Hub/HTTP/storage exceptions to `UserError` messages;
- `plan`: the tree a push sends (files, exclusions, LFS prediction, secrets check, dry-run tree);
- `model_folder` / `space_bundle`: that tree for a trained output folder / for the Gradio Space;
- `session`: pre-flight (token, account, write access, repo creation);
- `commit`: one commit with a safe retry, or none when nothing changed;
- `push` / `publish_run`: the flows the `push`, `publish-space` and `publish` commands call.

`huggingface_hub` is imported inside functions: it reads HF_ENDPOINT at import time, and the
CLI's `--help` stays fast.
"""
