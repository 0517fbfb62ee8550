"""Pairing on changes (issue 11): the git change set, project rules, dismissals, the review of a
change across files and its reports."""
