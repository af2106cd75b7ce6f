"""Hugging Face Space entry point: `python app.py` serves the UI; `gradio app.py` reloads on edits.

Configuration is read from the environment (see space/config.py or the README), e.g.
`NER_MODEL=path/or/hub-id python app.py`. Without any model the app still starts and says how
to configure one.
"""

import logging

from space.ui import build_demo, warm_up

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warm_up(demo)
    demo.launch()
