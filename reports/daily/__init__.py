"""The daily KPI report: one Report of kind daily per day (DAILY_REPORT_TIME_ZONE), its .docx, its delivery.

``schedule`` keeps the 08:00 beat entry, ``producer`` writes a day exactly once
(and the tasks beat runs), ``document`` turns the figures into words and the
.docx in the report's language, ``charts`` draws its pictures.
"""
