"""Reports: figures and the HTML/Markdown page of a preset run."""
