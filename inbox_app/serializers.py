"""Input and output of the inbox API (SPEC §15). Output fields are listed one by one."""

from rest_framework import serializers

from inbox_app.services import MAX_NAME
from scalehooks.api.fields import StrictInput, TimestampField
from scalehooks.api.names import refuse_control_characters


class InboxCreateInput(StrictInput):
    name = serializers.CharField(max_length=MAX_NAME, validators=[refuse_control_characters])


class ScriptInput(StrictInput):
    """Any of the script's fields; ``inbox_app.services`` validates them."""

    name = serializers.CharField(max_length=MAX_NAME, required=False, validators=[refuse_control_characters])
    answer_status = serializers.IntegerField(min_value=200, max_value=599, required=False)
    answer_body = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    answer_headers = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    answer_delay_s = serializers.FloatField(min_value=0, required=False)
    fail_count = serializers.IntegerField(min_value=0, required=False)
    fail_status = serializers.IntegerField(min_value=200, max_value=599, required=False)
    failure_rate = serializers.FloatField(min_value=0, max_value=1, required=False)


class ScriptOutput(serializers.Serializer):
    answer_status = serializers.IntegerField()
    answer_body = serializers.CharField()
    answer_headers = serializers.DictField(child=serializers.CharField())
    answer_delay_s = serializers.FloatField()
    fail_count = serializers.IntegerField()
    fail_status = serializers.IntegerField()
    failure_rate = serializers.FloatField()


class InboxOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField()
    created_at = TimestampField()
    expires_at = TimestampField()
    received_count = serializers.IntegerField()
    script = ScriptOutput(source="*")


class VerificationOutput(serializers.Serializer):
    auth = serializers.ChoiceField(choices=["live", "test"], allow_null=True)
    signature = serializers.ChoiceField(choices=["current", "previous"], allow_null=True)
    timestamp_skew_s = serializers.IntegerField(allow_null=True)
    payload_shape_ok = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class AnswerOutput(serializers.Serializer):
    status = serializers.IntegerField()
    delay_s = serializers.FloatField()
    rule = serializers.ChoiceField(choices=["default", "sequence", "failure_rate", "query"])


class CapturedRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    path = serializers.CharField()
    query = serializers.CharField()
    headers = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    body = serializers.CharField(source="body_text")
    body_size = serializers.IntegerField()
    truncated = serializers.BooleanField()
    remote_addr = serializers.CharField()
    received_at = TimestampField()
    delivery_id = serializers.CharField(allow_null=True)
    attempt = serializers.IntegerField(allow_null=True)
    answer = AnswerOutput()
    verification = VerificationOutput()


class RequestsQuery(StrictInput):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    before = serializers.IntegerField(min_value=1, required=False)
