from django.urls import path

from knowledge import api, assistant_api

app_name = "knowledge-api"

urlpatterns = [
    path("knowledge/documents/", api.DocumentListView.as_view(), name="document-list"),
    path("knowledge/documents/<int:document_id>/", api.DocumentDetailView.as_view(), name="document-detail"),
    path("knowledge/documents/<int:document_id>/reparse", api.DocumentReparseView.as_view(), name="document-reparse"),
    path("knowledge/search", api.SearchView.as_view(), name="search"),
    path("rooms/<uuid:room_id>/related", api.RoomRelatedView.as_view(), name="room-related"),
    path("rooms/<uuid:room_id>/assistant/questions", assistant_api.RoomQuestionsView.as_view(), name="question-list"),
    path("rooms/<uuid:room_id>/assistant/questions/<uuid:question_id>", assistant_api.RoomQuestionView.as_view(),
         name="question-detail"),
    path("rooms/<uuid:room_id>/assistant/questions/<uuid:question_id>/stream", assistant_api.question_stream,
         name="question-stream"),
    path("feedback/", assistant_api.FeedbackView.as_view(), name="feedback"),
    path("feedback/quality", assistant_api.FeedbackQualityView.as_view(), name="feedback-quality"),
]
