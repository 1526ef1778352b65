"""The sample workflows (one YAML document each) and, in inputs/, their sample inputs."""
