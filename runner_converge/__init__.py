"""Converge a lab site through ansible-runner, the way AWX runs a job (`make runner-converge`)."""
