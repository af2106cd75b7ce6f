"""Hugging Face Space entry point: `python app.py` serves the UI; `gradio app.py` reloads on edits.

Configuration is read from the environment (see space/config.py or docs/space.md), e.g.
`NER_MODEL=path/or/hub-id python app.py`. Without any model the app still starts and says how
to configure one. The app itself lives in space/app.py (analytics off, MCP server on).
"""

from space.app import demo, main  # noqa: F401 (`gradio app.py` looks for `demo`)

if __name__ == "__main__":
    main()
