"""The network side of the scanner: the only package that opens sockets.

It fetches robots.txt, the well-known opt-out files and resource headers, and returns evidence
records for the scanner to store; it never imports the store.
"""
