"""Process exit codes, one meaning each, listed in `ztbundle --help`."""

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1  # analyze: findings at or above --fail-on
    DIFFERENCES = 1  # diff, xds --diff: differences found (like diff(1))
    USAGE = 2
    BAD_INPUT = 3  # unreadable or unsafe bundle
    INCOMPLETE = 4  # collect: bundle written, some artifacts missing
    NOTHING_COLLECTED = 6  # collect: no bundle written (cluster unreachable, archive not writable…)
    NOT_COLLECTED = 5  # views: the bundle is sound but lacks what was asked (it was not collected)
    INTERRUPTED = 130
    OUTPUT_CLOSED = 141  # stdout closed by the command reading it (`| head`), as a shell reports SIGPIPE


EXIT_HELP = """exit codes:
  0    success (collect: complete bundle; analyze: nothing at or above --fail-on)
  1    analyze: findings at or above --fail-on; diff and xds --diff: differences found (like diff(1))
  2    usage error (also: a --node, --ztunnel or --namespace the bundle or cluster does not have)
  3    unreadable or unsafe bundle
  4    collect: bundle written but incomplete (the summary says what is missing)
  5    the bundle lacks what a view needs: it was not collected (the message says why)
  6    collect: no bundle written (cluster unreachable, bad credentials, no Istio found,
       the archive could not be written, or it would have held a credential)
  130  interrupted (collect still writes what it gathered)
  141  stdout closed by the command reading it (`| head`); collect --out-file - keeps the bundle
       and says where"""
