"""Preloaded into ingest's fork server (and only there): the server dies with the ingest process.

Without it a `kill -9` of ingest leaves the fork server running, and with it every worker it
forked (their parent, for PR_SET_PDEATHSIG, is the server, not ingest).
"""

from scanner.corpus.interrupt import die_with_parent

die_with_parent()
