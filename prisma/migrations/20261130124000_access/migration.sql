-- API tokens act in one team and may expire.
ALTER TABLE "ApiToken" ADD COLUMN "teamId" UUID;
ALTER TABLE "ApiToken" ADD COLUMN "expiresAt" TIMESTAMP(3);
CREATE INDEX "ApiToken_teamId_idx" ON "ApiToken"("teamId");
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit log; owners page through a team's events newest first.
CREATE TABLE "AuditEvent" (
    "id" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "teamId" UUID,
    "actorUserId" UUID,
    "credentialKind" TEXT,
    "credentialId" UUID,
    "action" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "targetIds" TEXT[],
    "address" TEXT,
    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AuditEvent_teamId_createdAt_idx" ON "AuditEvent"("teamId", "createdAt");
CREATE INDEX "AuditEvent_actorUserId_createdAt_idx" ON "AuditEvent"("actorUserId", "createdAt");

-- Fixed-window rate-limit counters shared by every API process.
CREATE TABLE "RateLimitWindow" (
    "key" TEXT NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "RateLimitWindow_pkey" PRIMARY KEY ("key","windowStart")
);
CREATE INDEX "RateLimitWindow_windowStart_idx" ON "RateLimitWindow"("windowStart");
