from thrifty.cli.main import entry

entry()
