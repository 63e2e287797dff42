from django.contrib import admin


class ReadOnlyTabularInline(admin.TabularInline):
    """An inline that shows ledger rows and never adds, changes or deletes them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
