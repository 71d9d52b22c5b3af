from django.urls import path

from . import views

urlpatterns = [
    path("", views.playbook_list, name="playbooks"),
    path("new/", views.playbook_create, name="playbook_create"),
    path("new/default/", views.playbook_install_default, name="playbook_install_default"),
    path("today/", views.today, name="playbook_today"),
    path("<int:pk>/", views.playbook_detail, name="playbook_detail"),
    path("<int:pk>/edit/", views.playbook_edit, name="playbook_edit"),
    path("<int:pk>/delete/", views.playbook_delete, name="playbook_delete"),
    path("<int:pk>/steps/", views.playbook_step_add, name="playbook_step_add"),
    path("steps/<int:pk>/", views.playbook_step_edit, name="playbook_step_edit"),
    path("steps/<int:pk>/delete/", views.playbook_step_delete, name="playbook_step_delete"),
    path("groups/<int:pk>/", views.group_timeline, name="group_playbook"),
    path("groups/<int:pk>/assign/", views.group_assign, name="group_playbook_assign"),
    path("runs/steps/<int:pk>/done/", views.run_step_done, name="run_step_done"),
    path("runs/steps/<int:pk>/skip/", views.run_step_skip, name="run_step_skip"),
    path("runs/steps/<int:pk>/reschedule/", views.run_step_reschedule, name="run_step_reschedule"),
]
