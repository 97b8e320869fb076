"""Versioned releases: immutable, content-addressed bundles of everything that shapes behaviour.

``bundle`` snapshots agents and prompts, model and prices, tools, approval policy, guard settings
and routing examples into a ``Release``; ``store`` keeps releases in the database with the one
active release, the canary split and the activation history; ``diff`` renders what changed;
``gate`` reads ``proctor eval`` reports; ``compare`` puts two releases' traces side by side;
``cli`` is ``proctor release``.
"""
