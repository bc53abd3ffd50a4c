from django.contrib import admin

from incidents.models import ActionItem, Category, IncidentRoom, Message, RoomFile, RoomMember


class RoomMemberInline(admin.TabularInline):
    model = RoomMember
    extra = 0
    autocomplete_fields = ["user"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "kind", "sender", "body"]
    readonly_fields = ["created_at", "kind", "sender", "body"]
    show_change_link = True
    can_delete = False
    max_num = 0  # the timeline is written through the room, not edited here


class RoomFileInline(admin.TabularInline):
    model = RoomFile
    extra = 0
    fields = ["original_name", "content_type", "size", "width", "height", "uploaded_by", "created_at"]
    readonly_fields = fields
    can_delete = False
    max_num = 0


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    fields = ["title", "assignee", "due_date", "status", "source"]
    raw_id_fields = ["assignee"]


@admin.register(IncidentRoom)
class IncidentRoomAdmin(admin.ModelAdmin):
    list_display = ["title", "severity", "category", "status", "created_by", "created_at", "resolved_at"]
    list_filter = ["status", "severity", "category", "created_at"]
    search_fields = ["title", "description", "category", "resolution_summary"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "updated_at", "resolved_at"]
    list_select_related = ["created_by"]
    autocomplete_fields = ["created_by"]
    inlines = [RoomMemberInline, ActionItemInline, MessageInline, RoomFileInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "kind", "sender", "created_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["body", "room__title"]
    list_select_related = ["room", "sender"]
    raw_id_fields = ["room", "sender"]


@admin.register(RoomFile)
class RoomFileAdmin(admin.ModelAdmin):
    list_display = ["original_name", "room", "content_type", "size", "uploaded_by", "created_at"]
    list_filter = ["content_type", "created_at"]
    search_fields = ["original_name", "room__title"]
    list_select_related = ["room", "uploaded_by"]
    readonly_fields = ["id", "file", "thumbnail", "content_type", "size", "width", "height", "created_at"]
    raw_id_fields = ["room", "uploaded_by"]


@admin.register(RoomMember)
class RoomMemberAdmin(admin.ModelAdmin):
    list_display = ["room", "user", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["room__title", "user__username", "user__display_name"]
    list_select_related = ["room", "user"]
    raw_id_fields = ["room", "user"]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "room", "assignee", "due_date", "status", "source", "created_at"]
    list_filter = ["status", "source", "due_date"]
    search_fields = ["title", "room__title"]
    list_select_related = ["room", "assignee"]
    raw_id_fields = ["room", "assignee", "created_by"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The categories the room forms offer. A room keeps the key; retire one by unticking "offered"."""

    list_display = ["key", "label_en", "label_zh_hant", "position", "active"]
    list_editable = ["label_en", "label_zh_hant", "position", "active"]
    search_fields = ["key", "label_en", "label_zh_hant"]
