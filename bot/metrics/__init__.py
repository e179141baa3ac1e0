"""What the bot reports about itself, in Prometheus' text format."""

from bot.metrics.prometheus import PrometheusMetrics
from bot.metrics.readings import Readings, ShardReading

__all__ = ["PrometheusMetrics", "Readings", "ShardReading"]
