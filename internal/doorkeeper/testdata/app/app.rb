# frozen_string_literal: true

# A real Doorkeeper server, configured as Jumpseller or SHOPLINE run theirs,
# for the tests of internal/doorkeeper. It needs only Debian's packages:
#
#   apt-get install -y --no-install-recommends ruby-doorkeeper ruby-rails ruby-sqlite3
#
# (bookworm: doorkeeper 5.5.0 on Rails 6.1, served by WEBrick: bookworm's
# libruby3.1 depends on ruby-webrick). No Gemfile, no bundler: plain require
# of the installed gems. One file, run as `ruby app.rb`; everything is set by the environment:
#
#   DK_PROFILE   jumpseller | shopline
#   DK_ROTATION  default: the install migration's previous_refresh_token
#                column exists (a refresh leaves the replaced row alive until
#                the new access token is first presented); strict: no such
#                column (the replaced row is revoked at once)
#   DK_DB        the SQLite database to create (it must not exist)
#   DK_CLIENTS   JSON: [{"uid","secret","redirect_uri","expires_in"}], the
#                confidential client applications, created at boot. With
#                expires_in, the code exchange's answer announces that
#                lifetime instead of the token's (for tests of expiry that
#                should not wait an hour; the server keeps accepting the
#                token, and refreshed tokens announce their real lifetime)
#   DK_MERCHANT  the resource owner when the "browser" names none (requests
#                name one with an X-Merchant header or a merchant_id parameter)
#   DK_CODE_TTL  authorization_code_expires_in, seconds (default 600)
#   DK_LOG_LEVEL the Rails log's level (default info)
#
# It listens on 127.0.0.1, on a port the kernel chooses, and prints
# "listening on 127.0.0.1:PORT" on standard output when it accepts
# connections. Its log goes to standard error.
#
# Besides Doorkeeper's routes (/oauth/authorize, /oauth/token,
# /oauth/revoke, /oauth/token/info) it serves the provider's API under
# /api/v1, and under /test what the tests read and change beyond the wire
# (TestController).

require "json"
require "logger"
require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "doorkeeper"
require "rack/handler/webrick"

PROFILE = ENV.fetch("DK_PROFILE")
ROTATION = ENV.fetch("DK_ROTATION", "default")
DB_PATH = ENV.fetch("DK_DB")
CLIENTS = JSON.parse(ENV.fetch("DK_CLIENTS", "[]"))
DEFAULT_MERCHANT = ENV.fetch("DK_MERCHANT", "merchant-1")
CODE_TTL = Integer(ENV.fetch("DK_CODE_TTL", "600"))

unless %w[jumpseller shopline].include?(PROFILE) && %w[default strict].include?(ROTATION)
  abort "app.rb: DK_PROFILE must be jumpseller or shopline, DK_ROTATION default or strict"
end

ENV["RAILS_ENV"] = "production"
ENV["DATABASE_URL"] = "sqlite3:#{DB_PATH}?pool=16&timeout=10000"

LOG = Logger.new($stderr, level: ENV.fetch("DK_LOG_LEVEL", "info"))
LOG.formatter = proc { |sev, _time, _prog, msg| "rails #{sev[0]} #{msg}\n" }

# The schema of Doorkeeper's install migration (lib/generators/doorkeeper/
# templates/migration.rb.erb), with a string resource_owner_id: SHOPLINE's
# merchant ids are strings. Strict rotation drops previous_refresh_token, as
# the migration's comment says to.
def create_schema
  ActiveRecord::Schema.verbose = false
  ActiveRecord::Schema.define do
    create_table :oauth_applications do |t|
      t.string :name, null: false
      t.string :uid, null: false
      t.string :secret, null: false
      t.text :redirect_uri, null: false
      t.string :scopes, null: false, default: ""
      t.boolean :confidential, null: false, default: true
      t.timestamps null: false
    end
    add_index :oauth_applications, :uid, unique: true

    create_table :oauth_access_grants do |t|
      t.string :resource_owner_id, null: false
      t.references :application, null: false
      t.string :token, null: false
      t.integer :expires_in, null: false
      t.text :redirect_uri, null: false
      t.datetime :created_at, null: false
      t.datetime :revoked_at
      t.string :scopes, null: false, default: ""
    end
    add_index :oauth_access_grants, :token, unique: true

    create_table :oauth_access_tokens do |t|
      t.string :resource_owner_id, index: true
      t.references :application, null: false
      t.string :token, null: false
      t.string :refresh_token
      t.integer :expires_in
      t.datetime :revoked_at
      t.datetime :created_at, null: false
      t.string :scopes
      t.string :previous_refresh_token, null: false, default: "" if ROTATION == "default"
    end
    add_index :oauth_access_tokens, :token, unique: true
    add_index :oauth_access_tokens, :refresh_token, unique: true
  end
end

# Scopes each provider documents; Doorkeeper refuses others at authorize.
SCOPES = {
  "jumpseller" => {
    default: %w[read_store],
    optional: %w[products orders customers categories store settings shipping_methods
                 payment_methods hooks promotions taxes pages countries custom_fields
                 checkout_custom_fields customer_categories jsapps fulfillments locations]
      .flat_map { |r| ["read_#{r}", "write_#{r}"] }
      .-(%w[read_store]) + %w[read_apps write_reviews read_transaction_ledgers write_store_setup],
  },
  "shopline" => {
    default: %w[products orders],
    optional: %w[merchants staffs customers categories webhooks],
  },
}.fetch(PROFILE)

# Merchant is the resource owner: one fixed user per merchant id, signed in
# already (the test's HTTP client is the browser).
Merchant = Struct.new(:id) do
  def to_key = [id]
end

# RequestLog remembers every token, revoke and API request answered, by
# client, for GET /test/requests.
module RequestLog
  @mutex = Mutex.new
  @entries = []

  def self.add(entry) = @mutex.synchronize { @entries << entry }
  def self.for_client(uid) = @mutex.synchronize { @entries.select { |e| e["client_id"] == uid } }
end

# RequestLogger is the Rack middleware that fills RequestLog.
class RequestLogger
  def initialize(app) = @app = app

  def call(env)
    status, headers, body = @app.call(env)
    path = env["PATH_INFO"]
    if path.start_with?("/oauth/token", "/oauth/revoke", "/api/")
      begin
        record(env, path, status, body)
      rescue StandardError => e
        LOG.error("request log: #{e.class}: #{e.message}")
      end
    end
    [status, headers, body]
  end

  private

  def record(env, path, status, body)
    req = ActionDispatch::Request.new(env)
    params = begin
      req.request_parameters.merge(req.query_parameters)
    rescue StandardError
      {}
    end
    client_id = params["client_id"]
    if (auth = env["HTTP_AUTHORIZATION"]).to_s =~ /\ABasic (.*)\z/m
      client_id ||= Base64.decode64(Regexp.last_match(1)).split(":", 2).first
    end
    client_id ||= env["dk.client_id"]
    error = nil
    if status >= 400 && body.respond_to?(:each)
      text = +""
      body.each { |part| text << part }
      error = begin
        JSON.parse(text)["error"]
      rescue StandardError
        nil
      end
    end
    RequestLog.add(
      "method" => env["REQUEST_METHOD"], "path" => path, "status" => status,
      "client_id" => client_id, "grant_type" => params["grant_type"], "error" => error,
      "content_type" => env["CONTENT_TYPE"], "bearer" => auth.to_s.start_with?("Bearer "),
    )
  end
end

class DoorkeeperTestApp < Rails::Application
  config.load_defaults 6.1
  config.root = File.dirname(DB_PATH)
  config.eager_load = false
  config.cache_classes = true
  config.secret_key_base = "0" * 64
  config.logger = LOG
  config.log_level = ENV.fetch("DK_LOG_LEVEL", "info").to_sym
  config.active_support.deprecation = :silence
  config.consider_all_requests_local = true
  config.hosts.clear
  # One request at a time (Rack::Lock): SQLite has one writer anyway.
  config.allow_concurrency = false
  config.middleware.insert_before 0, RequestLogger
end

Doorkeeper.configure do
  orm :active_record

  # Authorization is approved at once (no consent page) for the merchant the
  # browser names.
  resource_owner_authenticator do
    Merchant.new(request.headers["X-Merchant"].presence || params[:merchant_id].presence || DEFAULT_MERCHANT)
  end
  skip_authorization { true }

  use_refresh_token
  # The documented lifetimes: Jumpseller's hour, SHOPLINE's expires_in.
  access_token_expires_in(PROFILE == "jumpseller" ? 3600 : 15_778_476)
  authorization_code_expires_in CODE_TTL
  # A client's announced lifetime (DK_CLIENTS expires_in), for the code
  # exchange's answer only.
  after_successful_strategy_response do |request, response|
    if request.is_a?(Doorkeeper::OAuth::AuthorizationCodeRequest)
      announced = CLIENTS.find { |c| c["uid"] == request.client&.uid }&.dig("expires_in")
      response.announced_expires_in = Integer(announced) if announced
    end
  end

  default_scopes(*SCOPES[:default])
  optional_scopes(*SCOPES[:optional])

  grant_flows %w[authorization_code]
  # Loopback http redirect URIs are allowed, as both providers allow them.
  force_ssl_in_redirect_uri { |uri| !%w[127.0.0.1 localhost ::1 [::1]].include?(uri.host) }
end

# The token answer as each provider sends it (Doorkeeper 5.5's is
# lib/doorkeeper/oauth/token_response.rb: token_type "Bearer", a scope
# field, no resource_owner_id).
module ProviderTokenResponse
  attr_accessor :announced_expires_in

  def body
    b = super
    b = b.merge("expires_in" => announced_expires_in) if announced_expires_in
    case PROFILE
    when "jumpseller"
      # {"access_token","token_type":"bearer","expires_in","refresh_token","created_at"}
      b = b.merge("token_type" => "bearer")
      b.delete("scope")
    when "shopline"
      # … "scope":"products orders","created_at","resource_owner_id"
      b = b.merge("resource_owner_id" => token.resource_owner_id.to_s)
    end
    b
  end
end
Doorkeeper::OAuth::TokenResponse.prepend(ProviderTokenResponse)

# ApiController is the providers' API: Bearer tokens only, Doorkeeper's 401.
class ApiController < ActionController::API
  before_action { request.env["dk.client_id"] = doorkeeper_token&.application&.uid }

  private

  def merchant_id = doorkeeper_token.resource_owner_id
end

# Jumpseller: GET /v1/store/info.json (scope read_store).
class StoresController < ApiController
  before_action { doorkeeper_authorize! :read_store }

  def info
    render json: { store: { code: merchant_id, name: "Store #{merchant_id}", currency: "CLP",
                            country: "CL", email: "#{merchant_id}@example.com" } }
  end
end

# SHOPLINE: GET /v1/token/info and /v1/merchants; a User-Agent is required.
class ShoplineController < ApiController
  before_action do
    if request.user_agent.blank?
      render json: { error: "User-Agent header is required", code: "BadRequest" }, status: :bad_request
    else
      doorkeeper_authorize!
    end
  end

  def token_info
    render json: doorkeeper_token.as_json
  end

  def merchants
    render json: { items: [{ _id: merchant_id, name: "Merchant #{merchant_id}" }] }
  end
end

# TestController is what the tests see and do at the server beyond the wire:
# the request log, and the database as an administrator would change it
# (update_columns: no Doorkeeper logic runs). Changes go through the app, not
# a second SQLite connection: with two writers, Active Record's deferred
# transactions would meet SQLite's "database is locked" without waiting.
class TestController < ActionController::API
  # GET /test/requests?client_id=…
  def requests
    render json: RequestLog.for_client(params.require(:client_id))
  end

  # GET /test/tokens?client_id=…&merchant=…: every token issued to the
  # client for the merchant, oldest first.
  def tokens
    render json: tokens_of(params.require(:client_id), params.require(:merchant)).order(:id).map { |t|
      { access_token: t.token, refresh_token: t.refresh_token.to_s, revoked: !t.revoked_at.nil? }
    }
  end

  # POST /test/revoke {"token"}: revokes the row of an access token (its
  # refresh token with it).
  def revoke
    access_token.update_columns(revoked_at: Time.now.utc - 1)
    head :no_content
  end

  # POST /test/expire {"token"}: makes an access token older than its
  # lifetime; its refresh token stays valid.
  def expire
    t = access_token
    t.update_columns(created_at: t.created_at - t.expires_in - 60)
    head :no_content
  end

  # POST /test/revoke_grant {"client_id","merchant"}: revokes every token of
  # the merchant's grant to the client (the merchant removed the app).
  def revoke_grant
    n = tokens_of(params.require(:client_id), params.require(:merchant)).where(revoked_at: nil)
                                                                       .update_all(revoked_at: Time.now.utc - 1)
    render json: { revoked: n }
  end

  # POST /test/age_code {"code"}: makes an authorization code older than its
  # lifetime, and answers that lifetime.
  def age_code
    g = Doorkeeper::AccessGrant.find_by!(token: params.require(:code))
    g.update_columns(created_at: g.created_at - g.expires_in - 60)
    render json: { expires_in: g.expires_in }
  end

  private

  def access_token = Doorkeeper::AccessToken.find_by!(token: params.require(:token))

  def tokens_of(uid, merchant)
    Doorkeeper::AccessToken.where(application: Doorkeeper::Application.find_by!(uid: uid), resource_owner_id: merchant)
  end
end

abort "app.rb: #{DB_PATH} exists" if File.exist?(DB_PATH)
DoorkeeperTestApp.initialize!

# After initialize!: use_doorkeeper comes with the engine's initializers.
DoorkeeperTestApp.routes.draw do
  use_doorkeeper
  scope "/api/v1" do
    if PROFILE == "jumpseller"
      get "store/info.json", to: "stores#info", format: false
    else
      get "token/info", to: "shopline#token_info"
      get "merchants", to: "shopline#merchants"
    end
  end
  scope "/test", controller: :test do
    get :requests
    get :tokens
    post :revoke
    post :expire
    post :revoke_grant
    post :age_code
  end
end

create_schema
CLIENTS.each do |c|
  Doorkeeper::Application.create!(name: c["uid"], uid: c["uid"], secret: c["secret"],
                                  redirect_uri: c["redirect_uri"], scopes: "", confidential: true)
end

Rack::Handler::WEBrick.run(
  DoorkeeperTestApp, Host: "127.0.0.1", Port: 0,
                     Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN), AccessLog: []
) do |server|
  %w[INT TERM].each { |sig| trap(sig) { server.shutdown } }
  $stdout.puts "listening on 127.0.0.1:#{server.config[:Port]}"
  $stdout.flush
end
