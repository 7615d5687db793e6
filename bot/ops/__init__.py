"""What an operator watches: Prometheus metrics, health and readiness, JSON logs."""
