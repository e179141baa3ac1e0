"""What the bot reports about itself, in Prometheus' text format."""

from bot.metrics.prometheus import PrometheusMetrics, Readings, ShardReading

__all__ = ["PrometheusMetrics", "Readings", "ShardReading"]
