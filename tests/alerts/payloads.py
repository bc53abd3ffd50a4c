"""Payloads as the senders write them (Alertmanager webhook v4, Grafana unified alerting, generic)."""

import copy


def am_alert(alertname="CoreSwitchBGPDown", *, status="firing", fingerprint="a1b2c3d4e5f60718", severity="critical",
             service="core-network", summary="核心交換器 BGP 中斷 BGP down", **labels):
    return {
        "status": status,
        "labels": {"alertname": alertname, "service": service, "severity": severity, "instance": "CORE-SW-01", **labels},
        "annotations": {"summary": summary, "description": "BGP session to the ISP is down"},
        "startsAt": "2026-12-01T08:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T08:20:00.5Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=bgp_up+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts, status=None):
    alerts = list(alerts) or [am_alert()]
    first = alerts[0]["labels"]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="%s"}' % first["alertname"],
        "truncatedAlerts": 0,
        "status": status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved"),
        "receiver": "warroom",
        "groupLabels": {"alertname": first["alertname"]},
        "commonLabels": dict(first),
        "commonAnnotations": dict(alerts[0]["annotations"]),
        "externalURL": "http://alertmanager.example:9093",
        "alerts": copy.deepcopy(alerts),
    }


def grafana(*, status="firing", fingerprint="c6eadffa33fcdf37"):
    return {
        "receiver": "warroom",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1", "severity": "warning"},
                "annotations": {"description": "The system has high memory usage", "summary": "記憶體使用率過高 memory high"},
                "startsAt": "2026-12-01T09:51:03.157076+08:00",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://grafana.example/alerting/1afz29v7z/edit",
                "fingerprint": fingerprint,
                "silenceURL": "https://grafana.example/alerting/silence/new",
                "dashboardURL": "https://grafana.example/d/abc",
                "panelURL": "https://grafana.example/d/abc?viewPanel=1",
                "values": {"B": 44.23943737541908, "C": 1},
            }
        ],
        "groupLabels": {"alertname": "High memory usage"},
        "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example/",
        "version": "1",
        "groupKey": '{}:{alertname="High memory usage"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] High memory usage (blue us-1)",
        "state": "alerting",
        "message": "**Firing**\n\nValue: B=44.2",
    }


def generic(**fields):
    return {"title": "磁碟將滿 Disk almost full", "status": "firing", "severity": "major",
            "labels": {"host": "db-01", "service": "billing"}, "annotations": {"runbook": "https://wiki/disk"}, **fields}
