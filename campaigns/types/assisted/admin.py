"""What the admins of the friend-assisted types (帮 助力, 砍 砍价) share.

Tasks and bargains are read-only records (their counters move only through their type's rules). A help or
a cut added by hand goes through the same service as a member's tap (ActAddForm, ActAdmin), so a self-act,
a duplicate, an expired task or an old customer where only new users may help is refused with the same
Chinese message as on the page and in the API.
"""

from django import forms
from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActAddForm(forms.ModelForm):
    """Adds one act through the type's service; its refusal is the form's error."""

    def act(self, target, person):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        target, person = cleaned.get(self.target_field), cleaned.get(self.person_field)
        if target is not None and person is not None:
            try:
                self.made = self.act(target, person)
            except forms.ValidationError as refused:
                raise forms.ValidationError(refused.messages) from None
        return cleaned

    def _post_clean(self):
        # The service validated and recorded the act; the model's own checks would now see it as a duplicate.
        if getattr(self, "made", None) is None:
            super()._post_clean()


class ActAdmin(admin.ModelAdmin):
    """Acts are added through the service (as a member's tap would be) and never changed by hand."""

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return self.add_form._meta.fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [f.name for f in self.model._meta.fields]

    def save_model(self, request, obj, form, change):
        if not change:  # already recorded by the service in the form's clean()
            for field in self.model._meta.concrete_fields:
                setattr(obj, field.attname, getattr(form.made, field.attname))

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
