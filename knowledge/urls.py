from django.urls import path

from knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.knowledge_index, name="index"),
    path("passages/<int:chunk_id>/", views.passage_detail, name="passage"),
]
