"""The deadline rule settings page (`/o/<org_slug>/settings/deadlines/...`).

Included from accounts/urls.py, so the names live in the `accounts` namespace. No object ids
in the paths: a contract rule is named by its slug and a closure by its date, in the form.
"""

from django.urls import URLPattern, path

from privacy_requests.rules import views as v

urlpatterns: list[URLPattern] = [
    path("", v.DeadlineRulesView.as_view(), name="deadline_rules"),
    path("rules/", v.RuleSelectionView.as_view(), name="deadline_rules_selection"),
    path("contract-rules/", v.ContractRuleSaveView.as_view(), name="deadline_contract_rule_save"),
    path("closures/", v.ClosureAddView.as_view(), name="deadline_closure_add"),
    path("closures/remove/", v.ClosureRemoveView.as_view(), name="deadline_closure_remove"),
]
