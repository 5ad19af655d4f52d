"""Organization pages of vendors (`/o/<org_slug>/vendors/`), included from accounts/urls.py, so
the names live in the `accounts` namespace."""

from django.urls import URLPattern, path

from vendors import views

urlpatterns: list[URLPattern] = [
    path("", views.VendorListView.as_view(), name="vendor_list"),
    path("new/", views.VendorFormView.as_view(), name="vendor_create"),
    path("<int:vendor_id>/", views.VendorFormView.as_view(), name="vendor_edit"),
    path("policy/", views.VendorPolicyView.as_view(), name="vendor_policy"),
    # a request's vendor tasks (the district)
    path(
        "requests/<int:request_id>/",
        views.RequestVendorTasksView.as_view(),
        name="request_vendor_tasks",
    ),
    path("tasks/<int:task_id>/skip/", views.VendorTaskSkipView.as_view(), name="vendor_task_skip"),
    path(
        "files/<int:file_id>/download/",
        views.VendorFileDownloadView.as_view(),
        name="vendor_file_download",
    ),
    # tasks other organizations forwarded to this one (the vendor's queue)
    path("inbox/", views.InboxView.as_view(), name="vendor_inbox"),
    path("inbox/<int:receipt_id>/", views.ReceiptView.as_view(), name="vendor_receipt"),
]
