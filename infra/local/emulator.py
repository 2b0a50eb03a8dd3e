"""Runs the AWS emulator (moto's server) for local runs and tests, one request at a time.

moto serves S3, Secrets Manager and the other services; DynamoDB runs on dynalite (see
stack.sh). moto's threaded server is not safe under concurrent requests: it checks a
condition and applies a write in separate steps, so two requests can both pass one check.
Handling requests under one lock keeps each request atomic while connections stay
concurrent.

CloudWatch's metrics are kept per series and minute (see keep_metrics_per_minute); pass
--moto-metrics for moto's own store, which the benchmark measures beside it. An SQS
receive costs the queue's length once, not once per message received (see
receive_without_counting).

usage: python emulator.py HOST PORT [--moto-metrics]
"""

import os
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def dump_safe_rds_clusters() -> None:
    """Lets /moto-api/data.json (which tests read sent emails from) dump RDS clusters.

    moto's cluster model raises on reading the master password, which fails the whole
    dump as soon as any test has made a cluster; the dump shows it as hidden instead.
    """
    from moto.rds.models import DBCluster

    original = DBCluster.master_user_password
    DBCluster.master_user_password = property(lambda _self: "(hidden)", original.fset)


def keep_metrics_per_minute() -> None:
    """Stores metrics as CloudWatch stores standard-resolution ones: one statistic set per
    series (namespace, name, dimensions) and minute, found by its series.

    moto appends every datum to one list, scans all of it once per query and period, and
    compares every datum with every other to list the metrics. Reads then slow down with
    every request served: after about a thousand requests the dashboard's analytics
    outlast their 2 s deadline, and PutMetricData waits behind them. Here a put adds into
    its series' minute, GetMetricData reads only the minutes of the series it names, and
    ListMetrics lists series. moto's other reads see the same minute sets in its list.
    """
    from moto.cloudwatch.exceptions import ValidationError
    from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, Statistics
    from moto.core.utils import utcnow

    def series_of(backend: CloudWatchBackend) -> dict:
        # {(namespace, name, dimensions): {(minute, unit): MetricAggregatedDatum}}
        return backend.__dict__.setdefault("_series_by_minute", {})

    def dimensions_key(dimensions) -> tuple:
        return tuple(sorted((d["Name"], d["Value"]) for d in dimensions or []))

    def epoch(at: datetime) -> float:
        return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()

    def summary(member: dict) -> tuple[float, float, float, float]:
        """(sum, minimum, maximum, sample count) of one MetricData member."""
        if member.get("Values"):
            values = [float(v) for v in member["Values"]]
            counts = [float(c) for c in member.get("Counts") or [1] * len(values)]
            return sum(v * c for v, c in zip(values, counts)), min(values), max(values), sum(counts)
        if member.get("StatisticValues"):
            stats = member["StatisticValues"]
            return (float(stats["Sum"]), float(stats["Minimum"]), float(stats["Maximum"]),
                    float(stats["SampleCount"]))
        value = float(member.get("Value", 0))
        return value, value, value, 1.0

    def put_metric_data(self, namespace: str, metric_data: list) -> None:
        for i, member in enumerate(metric_data):
            self._validate_parameters_put_metric_data(member, i + 1)
        series = series_of(self)
        for member in metric_data:
            at = member.get("Timestamp") or utcnow()
            minute = at.replace(second=0, microsecond=0)
            dimensions = member.get("Dimensions") or []
            key = (namespace, member["MetricName"], dimensions_key(dimensions))
            unit = member.get("Unit")
            total, low, high, count = summary(member)
            minutes = series.setdefault(key, {})
            datum = minutes.get((minute, unit))
            if datum is None:
                datum = MetricAggregatedDatum(namespace, member["MetricName"], low, high, count,
                                              total, dimensions, minute, unit)
                minutes[(minute, unit)] = datum
                self.metric_data.append(datum)
            else:
                datum.sum += total
                datum.min = min(datum.min, low)
                datum.max = max(datum.max, high)
                datum.sample_count += count

    moto_get_metric_data = CloudWatchBackend.get_metric_data

    def get_metric_data(self, queries: list, start_time: datetime, end_time: datetime,
                        scan_by: str = "TimestampAscending") -> list:
        if any("MetricStat" not in q for q in queries):
            return moto_get_metric_data(self, queries, start_time, end_time, scan_by)
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        start, end = epoch(start_time), epoch(end_time)
        series = series_of(self)
        results = []
        for query in queries:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            period = int(stat["Period"])
            unit = stat.get("Unit")
            key = (metric["Namespace"], metric["MetricName"], dimensions_key(metric.get("Dimensions")))
            periods: dict[int, list] = {}
            for (minute, datum_unit), datum in series.get(key, {}).items():
                at = epoch(minute)
                if start <= at < end and (not unit or datum_unit == unit):
                    periods.setdefault(int((at - start) // period), []).append(datum)
            timestamps, values = [], []
            for index in sorted(periods):
                stats = Statistics([stat["Stat"]], start_time + timedelta(seconds=index * period))
                stats.metric_data = periods[index]
                timestamps.append(stats.timestamp)
                values.append(stats.get_statistics_for_type(stat["Stat"]))
            if scan_by == "TimestampDescending":
                timestamps.reverse()
                values.reverse()
            if query.get("ReturnData", True):
                results.append({
                    "id": query["Id"],
                    "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                })
        return results

    def get_filtered_metrics(self, metric_name: str, namespace: str, dimensions: list) -> list:
        wanted = [(d["Name"], d.get("Value")) for d in dimensions or []]
        listed = []
        for (series_namespace, name, series_dimensions), minutes in series_of(self).items():
            if (namespace and namespace != series_namespace) or (metric_name and metric_name != name):
                continue
            if all(any(n == wanted_name and (wanted_value is None or v == wanted_value)
                       for n, v in series_dimensions) for wanted_name, wanted_value in wanted):
                listed.append(next(iter(minutes.values())))
        return listed + [md for md in self.aws_metric_data
                         if md.filter(namespace=namespace, name=metric_name, dimensions=dimensions)]

    CloudWatchBackend.put_metric_data = put_metric_data
    CloudWatchBackend.get_metric_data = get_metric_data
    CloudWatchBackend.get_filtered_metrics = get_filtered_metrics


def receive_without_counting() -> None:
    """Keeps an SQS receive proportional to the queue, not to the queue times the batch.

    moto checks each received message's retention by reading every attribute of its queue,
    which counts the visible, delayed and in-flight messages afresh, each message's clock
    read through a datetime: a receive of ten from a queue of 2,000 delayed offer expiries
    (the drivers benchmark's 45 s deadlines at 50 offers a second) took about 100 ms under
    the one lock, and offers' sends timed out behind it. Here the check reads the retention
    period alone, and a message's visibility reads the clock once as a number.
    """
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self, queue_name: str, message) -> bool:
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()

    SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )
    Message.visible = property(lambda self: time.time() * 1000.0 > self.visible_at)
    Message.delayed = property(lambda self: time.time() * 1000.0 < self.delayed_until)


def main(host: str, port: int, moto_metrics: bool) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    dump_safe_rds_clusters()
    receive_without_counting()
    if not moto_metrics:
        keep_metrics_per_minute()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    inner = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            # Materialise the body under the lock: the request is done when it is sent.
            return list(inner(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), "--moto-metrics" in sys.argv[3:])
