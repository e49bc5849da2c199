"""The Ansible content of `ansible/` as the collection a ward installs by version (`make collection`)."""
