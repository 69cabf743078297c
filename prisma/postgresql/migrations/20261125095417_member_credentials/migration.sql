-- CreateTable
CREATE TABLE "member_credential" (
    "member_id" TEXT COLLATE "C" NOT NULL,
    "password_hash" TEXT COLLATE "C" NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "member_credential_pkey" PRIMARY KEY ("member_id")
);

