#!/usr/bin/env bash
# Creates every event topic and its dead-letter topic with the platform's partitions and retention
# (docs/operations.md, "Topics"). Idempotent: existing topics are left as they are.
#   KAFKA_BOOTSTRAP (default kafka:9092), EOC_TOPIC_PARTITIONS (6), EOC_TOPIC_REPLICATION (1),
#   EOC_TOPIC_RETENTION_MS (30 days), EOC_DLQ_RETENTION_MS (90 days)
set -euo pipefail

bootstrap="${KAFKA_BOOTSTRAP:-kafka:9092}"
partitions="${EOC_TOPIC_PARTITIONS:-6}"
replication="${EOC_TOPIC_REPLICATION:-1}"
retention="${EOC_TOPIC_RETENTION_MS:-2592000000}"
dlq_retention="${EOC_DLQ_RETENTION_MS:-7776000000}"
topics_cmd="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"

topics=(
  referral.created referral.updated child.updated intervention.started intervention.closed
  consent.overdue assessment.overdue partner.event.received eligibility.decided
  followup.due followup.recorded projection.updated
  pre_proceedings.started fgdm.offered fgdm.responded fgdm.meeting_held fgdm.offer_overdue care_application.made
)

for topic in "${topics[@]}"; do
  "$topics_cmd" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic" \
    --partitions "$partitions" --replication-factor "$replication" \
    --config retention.ms="$retention" --config cleanup.policy=delete
  "$topics_cmd" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic.dlq" \
    --partitions 1 --replication-factor "$replication" \
    --config retention.ms="$dlq_retention" --config cleanup.policy=delete
done
"$topics_cmd" --bootstrap-server "$bootstrap" --list
