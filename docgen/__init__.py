"""Documentation generated from the code: role variable tables and defaults comments, docs/controls.md.

`python -m docgen` (`make docs`) writes them; `python -m docgen --check` lists what is stale.
"""
