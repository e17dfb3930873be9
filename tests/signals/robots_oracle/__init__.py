"""A frozen copy of the robots.txt parser and matcher as of df19fa4 (before the cold-path work of
issue 22 §2), the oracle `test_robots_oracle.py` compares today's parses and decisions with.
Never imported by `scanner`; do not edit it to make a test pass."""
