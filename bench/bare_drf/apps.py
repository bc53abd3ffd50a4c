from django.apps import AppConfig


class BareDrfConfig(AppConfig):
    name = "bench.bare_drf"
    label = "bare_drf"
