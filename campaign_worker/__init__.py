"""campaign-worker: collects, moderates and re-publishes regional campaign posts.

Data flows one way: source → post → decision → draft / digest.
"""

__version__ = "0.1.0"
