# One image, three roles: `api`, `worker` and `migrate` are subcommands of the binary.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go: the embedded SQLite and Temporal need no C toolchain.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/onboarding ./cmd/onboarding

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onboarding /usr/local/bin/onboarding
ENV ONBOARDING_HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/onboarding"]
CMD ["api"]
