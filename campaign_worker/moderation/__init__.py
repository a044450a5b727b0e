"""Automatic moderation: rules that turn a post into a verdict, and the pipeline running them."""
