"""Prompt templates of the AI core, versioned: a change of wording gets a new file and version."""
