"""The command line: a thin shell over library calls. Only this package prints."""
